"""Records: the facts a replication writes and the KPIs read, without the SimPy model.

``storage`` is the columnar backend (:class:`~sim.records.storage.ColumnLog`); ``calls`` the
call records and their codes (outcomes, origins); ``business`` the codes of orders, leads and
work orders; ``staff`` the staff log; ``call_log`` the calls written as a call log in the
generic format. Imports ``sim.scenario`` only.
"""
