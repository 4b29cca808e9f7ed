"""What Capitol Trades' pages say, read without I/O: the React flight decoder (``flight``),
the page readers (``page``, ``read_trades``, ``read_issuers``, ``read_politicians``,
``parse``), the site's rules for its answers (``rules``), the committee roster (``roster``)
and the listing walk (``walk``)."""
