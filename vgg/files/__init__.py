"""Files on disk: images read and written (images), atomic no-clobber placement (atomic), checkpoint name
patterns (patterns) and the resume-state format (state)."""
