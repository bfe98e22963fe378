#!/usr/bin/env python3
"""meson install script: installs the default config unless one is there.

An operator's edited /etc/tartan/tartan.yaml must survive a reinstall, which
meson's install_data cannot promise (it overwrites).
Usage: install_default_config.py SOURCE DEST (DEST absolute, DESTDIR applied).
"""
import os
import shutil
import sys


def main() -> int:
    source, dest = sys.argv[1], sys.argv[2]
    destdir = os.environ.get('DESTDIR', '')
    # As meson joins DESTDIR and an absolute path: by concatenation.
    target = destdir + dest if destdir else dest
    if os.environ.get('MESON_INSTALL_DRY_RUN'):
        print(f'Would install {source} to {target} unless it exists')
        return 0
    if os.path.lexists(target):
        print(f'Keeping existing {target} (the default config is {source})')
        return 0
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copyfile(source, target)
    os.chmod(target, 0o644)
    print(f'Installing {source} to {target}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
