"""The generic core: a Trio pipeline of workers and one collector (``pipeline``), the gate
that paces requests (``gate``, ``pacing``, ``site_limit``), the retry and breaker policy
(``policy``) and the run's statistics (``stats``). It knows no site, no HTTP and no SQL."""
