"""A progress bar for long sweeps: tqdm (a widget in notebooks, text in a terminal) or nothing."""


class _NoBar:
    def update(self, n=1):
        pass

    def close(self):
        pass


def progress_bar(total, enabled, unit):
    """A bar counting ``total`` ``unit``s when ``enabled``, else an object that does nothing."""
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm
    return tqdm(total=total, unit=unit, leave=False)
