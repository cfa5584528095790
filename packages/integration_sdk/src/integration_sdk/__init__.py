"""Everything that crosses an island boundary: broker topology, outbox, relay, inbox, retry and DLQ,
replay, the operator CLI, and the partner data (ERP, suppliers, vehicle data, platforms) for demos and
benchmarks. The only package that imports aio_pika."""
