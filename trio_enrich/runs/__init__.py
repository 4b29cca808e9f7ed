"""What a run does: the run session that owns a run's resources (``session``: the lock,
robots.txt, the client, pacing, the archive, the store), the jobs as values (``jobs``) and
the stages that run inside a session (``enrich``, ``sync``, ``committees``, ``check``,
``reparse``). The library's calls and the command line's commands both run here."""
