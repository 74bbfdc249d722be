"""The algorithm only (Gatys et al., as the seed runs it): its settings (config), losses, the one schedule of
prints and checkpoints (schedule), the loop as events (loop), a whole run over stages (run), coarse to fine
(scales), pixel maths (pixels) and the memory and time estimates (memory, timing). Nothing here writes to a
terminal or a file."""
