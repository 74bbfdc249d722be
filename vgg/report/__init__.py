"""What listens to the loop (listeners): the original's lines and the status line (terminal), the loss
history and its plot (history, plot), the run log (runlog), the resume states beside checkpoints (states)."""
