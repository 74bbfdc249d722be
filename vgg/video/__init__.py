"""A video stylised frame by frame without flicker (Ruder, Dosovitskiy and Brox 2016/2018).

Everything here needs the ``video`` extra (PyAV for the files, OpenCV for the optical flow), except
``extra`` itself, which says so in one line when it is missing: import the other modules only after
``extra.require()``. The loss term is in vgg.style.temporal (the algorithm, no files, no OpenCV).

- ``extra``: the extra's check.
- ``media``: video files and numbered frames in and out (PyAV, Pillow for GIF).
- ``flow``: DIS optical flow on the content frames, the reliability weights, warping (OpenCV).
- ``work``: the work folder beside the output: finished frames and flows, placed atomically; what is done.
- ``driver``: one video, its frames in order, resumable; chunks of it with frames of lead-in.
"""
