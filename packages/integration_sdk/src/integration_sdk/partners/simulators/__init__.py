"""Partner simulators: the ERP's order API and the sales platforms' APIs as real HTTP servers (uvicorn).

They stand in for external systems we do not have, in tests, benchmarks and ``atraxion up``, with
faults programmable per test over ``/_control/faults`` (429 with Retry-After, 5xx, slow answers,
answers later than the client's timeout, connection resets, duplicate deliveries). They live in
integration_sdk beside the partner data generator: both are what the outside world does to us, used
by more than one island's tests and by the operator CLI, and no island may import another.
"""
