"""The `paretohqd` command, unchanged, with the tiny runs' test reward registered: what `accelerate launch` runs in
test_distributed. Every call of the reward appends the id of the calling process to the file named by
$REWARD_CALLS, so a test can tell which processes scored and how often."""

import os
import sys

from paretohqd.cli import main
from paretohqd.rewards import register_reward
from tiny_runs import LetterA


class LoggedLetterA(LetterA):
    """The test reward, logging the process id of every call."""

    def _score(self, prompts, responses):
        with open(os.environ["REWARD_CALLS"], "a") as log:
            log.write(f"{os.getpid()}\n")
        return super()._score(prompts, responses)


if __name__ == "__main__":
    register_reward("test-a", LoggedLetterA)
    sys.exit(main())
