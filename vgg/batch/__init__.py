"""Many inputs, one task each: what a batch of photos (vgg.cli.batch) is built on, and what a batch of videos can
reuse. ``executor``: tasks run serially here, on local Dask workers or on a Dask scheduler (the only module that
imports Dask is ``dask_executor``, and only when asked); ``contents``: --content's files and folders as named
items; ``marks``: which items are finished; ``progress``: the batch's progress as one record (BatchProgress), for
a terminal or a page; ``summary``: how the batch ended and its exit status."""
