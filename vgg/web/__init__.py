"""The run's page in a browser (``--web``): the best image so far, the loss curves, the progress, save and stop.

- ``board.py``: what the page shows, published by the loop's thread without ever waiting on a page.
- ``frames.py``: the run's own images, encoded as JPEG in the server's threads when a page asks for them.
- ``listener.py``: the listener that feeds a board from one run's events, and "stop" as Ctrl-C.
- ``server.py``: the standard library's threading HTTP server: the token, the Host check, the event stream.
- ``address.py``: the --web value and the Host names a request may carry (imported by the flags: no server).
- ``static/``: the page itself (HTML, CSS, JavaScript; nothing is fetched from elsewhere).

A front end of several runs (a batch, a video) serves one page for all of them::

    server = PageServer(host, port)                  # bound here (OSError), then server.start()
    server.board.set_stopper(ctrl_c())               # in the main thread
    server.board.set_items(["a.jpg", "b.jpg"])       # the items, all waiting
    for k, item in enumerate(items):
        server.board.item(k, "running")
        listener = WebListener(server.board, server.frames, run, settings, inputs, save, item=k)
        ... the run, with ``listener`` among its listeners ...
        server.board.item(k, "done", output)         # or "failed", with the reason
    server.board.set_status("ended", "3 of 3 done")
    server.wait_streams_closed(linger); server.close()

Each WebListener starts the page's run view again (its loss curves, progress and inputs); the list of items,
the notes and the status stay for the whole batch. The command line's front ends do this in
``vgg.cli.batch_page`` (a batch) and ``vgg.cli.page`` (a single run, a video's frames).
"""
