"""Wheel sets: complete sets (wheels + tyres, a TPMS sensor where the vehicle needs one, a mounting type)
sold from ``wheel_set_projection``, kept right as stock, prices and fitments change.

- ``compose``: the composition rules (pure): candidates, pairing, bounds, set key, quantity and price;
- ``candidates``: the bounded candidate rows of many variants from the fitment replica, in SQL;
- ``recompute``: composing variants into the projection and its reverse index, refreshing the sets a
  component change touches (the ``webshop.bulk`` handler), and the requests the projections send;
- ``reference``: the same answers at request time from mappings, catalogue and availability;
- ``queries`` and ``api``: the set list and set detail;
- ``maintenance``: reconcile and resumable rebuild.
"""
