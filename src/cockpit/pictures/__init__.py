"""Draws diffs and screenshots into images; no I/O beyond reading fonts.

Pure: it imports nothing from the host (a test checks), so it can be used and tested
without git, Chromium or a host. Import from the module that defines each name:

* `patch`: `FileDiff`, `Hunk`, `DiffLine` and `parse_patch` (unified patch text to those);
* `diff_image.render_file_diff(file_diff) -> list[RenderedImage]` (the pages of one file);
* `overview_image.render_overview(...)` and `stacked.stack_small(...)` (the changes at once);
* `composite.side_by_side(shots) -> CompositeImage` (screenshots next to each other).

Every picture has `.data`, `.content_type`, `.filename` and `.caption`, and is under
5 MB (WhatsApp's media limit).
"""
