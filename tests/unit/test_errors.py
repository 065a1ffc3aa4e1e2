from functions import errors


def test_every_retryable_name_is_a_retryable_class() -> None:
    classes = {c.__name__: c for c in vars(errors).values() if isinstance(c, type)}
    for name in errors.RETRYABLE_ERROR_NAMES:
        assert classes[name].retryable, name


def test_terminal_errors_are_not_retryable_and_serialise_without_traceback() -> None:
    err = errors.PineconeUnauthorized("Unauthorized", hint="Set the secret")
    assert not err.retryable
    assert err.to_dict() == {
        "error": "PineconeUnauthorized",
        "message": "Unauthorized",
        "retryable": False,
        "hint": "Set the secret",
    }
    assert isinstance(err, errors.AutoImportError)
