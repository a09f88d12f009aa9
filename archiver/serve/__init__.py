"""Opening what was archived, over HTTP: the web UI, replay, the Memento and CDX APIs and the JSON
API, as one local server (``archiver serve``). A thin layer over the library: every answer it gives,
a researcher could get by importing the package."""
