# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""The ``nova scheduled-images-*`` commands.

python-novaclient loads this module through the ``novaclient.extension``
entry point named ``rax_scheduled_images_python_novaclient_ext``. It turns
every ``do_*`` function in this module's namespace into a command (they
live in :mod:`.nova`, one module per command group, and are imported
here), and attaches the LAST
``novaclient.base.Manager`` subclass it finds in this module's namespace
(imported ones included) to the client under the entry point's name. So
exactly one Manager class may be imported here by name: the schedule
manager. Other managers are reached through their module.

Why the top-level directory has no ``__init__.py``: python-novaclient also
scans sys.path for regular packages whose name ends in
``_python_novaclient_ext``. A regular package of this name would be loaded
by that scan AND by the entry point (every command then fails with
"conflicting subparser"), and on Python 3.12+ the scan itself crashes
("'FileFinder' object has no attribute 'find_module'"). The scan skips
directories without ``__init__.py``, so only the entry point loads us.
"""

from __future__ import annotations

from rax_scheduled_images_python_novaclient_ext.manager import (  # noqa: F401
    ScheduleManager,
)
from rax_scheduled_images_python_novaclient_ext.nova.health import (  # noqa: F401
    do_scheduled_images_check,
)
from rax_scheduled_images_python_novaclient_ext.nova.images import (  # noqa: F401
    do_scheduled_images_image_keep,
    do_scheduled_images_image_list,
    do_scheduled_images_image_release,
)
from rax_scheduled_images_python_novaclient_ext.nova.orphans import (  # noqa: F401
    do_scheduled_images_orphan_list,
    do_scheduled_images_orphan_purge,
)
from rax_scheduled_images_python_novaclient_ext.nova.schedules import (  # noqa: F401
    do_scheduled_images_disable,
    do_scheduled_images_enable,
    do_scheduled_images_list,
    do_scheduled_images_show,
)

EXTENSION_NAME = "rax_scheduled_images_python_novaclient_ext"
