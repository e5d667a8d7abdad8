"""泉城政策问答: the chat page, run from a checkout (``python ui.py [--host H] [--port P]``; the same as
``rag serve``). The page's code is ``rag/ui.py``, so an installed package carries it."""

import sys

from rag.ui import main

if __name__ == "__main__":
    sys.exit(main())
