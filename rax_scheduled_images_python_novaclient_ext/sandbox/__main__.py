"""`python -m rax_scheduled_images_python_novaclient_ext.sandbox`."""

import sys

from .cli import main

sys.exit(main())
