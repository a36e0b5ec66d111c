"""Text corpora shipped inside the package (read with ``importlib.resources``).

``tinyshakespeare.txt.gz``: the 1,115,394-byte character-level corpus used by
char-rnn and nanoGPT (public domain text; 65 distinct characters; sha256 of the
uncompressed file 86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed),
compressed with ``gzip.compress(data, compresslevel=9, mtime=0)``.
"""
