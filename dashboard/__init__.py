"""The app shell and its server-side services: settings, ids, session, project store, jobs and figures."""
