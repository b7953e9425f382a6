# SPDX-License-Identifier: MIT
"""The base of every class that owns a library handle."""
import weakref


def _release(free, pointer, owners):
    # `owners` holds the objects this handle depends on (an encoder's model) so that the
    # garbage collector frees them after it, even when both become garbage at once or at exit.
    free(pointer)


class Handle:
    """Owns one pointer from the library and frees it exactly once.

    close() frees it at once, after closing every handle made from it (closing a Model closes
    its encoders and classifiers, as the C API requires them to be freed first). Otherwise it
    is freed when the object is garbage collected, or at interpreter exit. Every subclass is a
    context manager that closes it on exit.
    """

    _pointer = None
    _finalizer = None
    _owners = ()
    _dependents = ()

    def _own(self, pointer, free, *owners):
        """Takes ownership of `pointer`, released with `free`; `owners` are the handles it was
        made from, which must stay alive (and open) while it is."""
        self._pointer = pointer
        self._owners = owners
        self._dependents = weakref.WeakSet()
        for owner in owners:
            owner._dependents.add(self)
        self._finalizer = weakref.finalize(self, _release, free, pointer, owners)

    def _borrow(self, pointer, owner):
        """Refers to `pointer` owned by `owner`, which it keeps alive; frees nothing itself."""
        self._pointer = pointer
        self._owners = (owner,)
        self._dependents = weakref.WeakSet()
        owner._dependents.add(self)
        self._finalizer = None

    @property
    def closed(self) -> bool:
        """True once this handle, or one it was made from, has been closed."""
        if self._pointer is None:
            return True
        return any(owner.closed for owner in self._owners)

    @property
    def _ptr(self):
        """The live pointer, for passing to the library; ValueError once closed."""
        if self.closed:
            raise ValueError("this %s is closed" % type(self).__name__)
        return self._pointer

    def close(self) -> None:
        """Frees the handle now (and first every handle made from it). Safe to call twice."""
        for dependent in list(self._dependents):
            dependent.close()
        if self._finalizer is not None:
            self._finalizer()
        self._pointer = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
