"""What the outside world sends us, generated deterministically for demos, tests and benchmarks:
the ERP article export, supplier feeds in their own formats (with their own mistakes), the vehicle
data provider's sync file and the sales platforms' configurations; and ``simulators``, the partners'
APIs (the ERP, the sales platforms) as real HTTP servers with programmable faults."""
