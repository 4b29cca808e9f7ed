"""Telling people what is new: after `update` has committed its data, an Atom feed of the
newest trades and one digest per notification destination of the new trades its watch rules
want, each trade delivered once (the ledger in ``storage.deliveries``)."""
