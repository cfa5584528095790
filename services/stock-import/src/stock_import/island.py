"""How the stock-import island presents itself to the operator CLI (entry point ``atraxion.islands``)."""

from foundation.island import Island
from stock_import.settings import StockImportSettings

ISLAND = Island(
    name="stock-import",
    package="stock_import",
    settings_class=StockImportSettings,
    app_factory="stock_import.app:create_app",
    worker_factory="stock_import.worker:create_worker_app",
    demo_loader="stock_import.demo:load_demo_data",
)
