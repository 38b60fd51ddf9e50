"""Search strategies: how a trial's cases are scheduled, when it stops, how trials are ranked.

The interface is :class:`~sra_search.search.strategies.base.SearchStrategy`; each strategy is one
module registered in :mod:`~sra_search.search.strategies.registry`, which the driver asks for the
study's strategy and knows nothing else of them.
"""
