"""The command line's side: settings from flags (``settings``), the stages a command runs
(``stages``), running them and their exit codes (``execute``), the words of summaries
(``report``), the progress display (``progress``), the demo and the archive's commands."""
