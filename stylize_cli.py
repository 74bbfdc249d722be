"""The command line: parse the flags, build the record of the invocation, check it, run it, map errors to exits.

Every flag of the original keeps its name, and its default except --iterations (docs/REFERENCE.md section 5);
the flags are declared in vgg/cli/flags.py. Bad input ends with one line, `stylize: error: ...`, on stderr and
exit status 2; a loss that becomes NaN or infinite saves the best finite image to --output and exits with
status 1; Ctrl-C, SIGTERM and SIGHUP save the best image so far and exit with 130, 143 and 129.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from minigrad.backend import BackendError
from vgg.cli import batch, batch_run, checks, flags, invocation, session, signals
from vgg.cli.console import error, guarded_streams, say
from vgg.errors import StyleError


def main(argv: Sequence[str] | None = None) -> int:
    with guarded_streams(), signals.ending_signals_raise():
        try:
            parsed = flags.parse(argv)
            if batch.is_batch(parsed.values):  # several contents, a folder, --workers or --cluster
                return batch_run.main(parsed)
            record, resume = invocation.build(parsed)
            checks.check_all(record)
            return session.run(record, resume)
        except SystemExit as exc:  # --help, or a usage error already printed
            return exc.code if isinstance(exc.code, int) else 2
        except (StyleError, BackendError, OSError) as exc:
            error(str(exc))
            return 2
        except MemoryError as exc:  # reading images or the network; the loop's own names the image size
            reason = str(exc) or type(exc).__name__  # an allocation that fails under `ulimit -v` may say nothing
            error(f"out of memory while reading the inputs ({reason})")
            return 2
        except signals.ENDING as exc:  # before the loop began: nothing to save
            code = signals.exit_status(exc)
            say(signals.WORDS[code].split(" ")[0], "nothing was computed yet; nothing saved")
            return code


if __name__ == "__main__":
    sys.exit(main())
