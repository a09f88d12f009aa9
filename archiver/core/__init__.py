"""What every layer shares: the error tree (errors), the types that flow between layers (models),
the workspace on disk (workspace), settings and capture options (settings), URLs (urls), times
(moments), schedule times (schedule_times), bounds on values from outside (bounds), deflate
(deflate, zlib-ng's home), the manifest YAML writer (yamlemit), and interrupt handling (interrupts)."""
