"""rnnlab's own plugins, registered through the ``rnnlab`` entry-point group like any other."""
