"""Widgets of the book: one module per widget (`from cnnbook.widgets.playground import KernelPlayground`)."""
