"""Asking the site for pages: the shared handling of an answer (``answers``), one client per
library (``httpx_client``; ``browser``: curl_cffi as Chrome), the choice between them
(``factory``) and robots.txt (``robots``)."""
