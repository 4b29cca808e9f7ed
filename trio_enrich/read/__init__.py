"""The read side: the copy answered offline, never in the way of a run. Opens the database
read-only (no lock, no write, read-only media welcome) and imports nothing of the HTTP stack:
the filters of ``list`` as one SQL statement each (``queries``), the rows in the formats
people and tools read (``formats``), and the one description of every table and column
(``dictionary``), from which the docs are made."""
