"""Stored media (product images, shop logos, later videos): a small storage interface with a
local-directory implementation, the key scheme, and the ``/media/{key}`` route that serves it."""
