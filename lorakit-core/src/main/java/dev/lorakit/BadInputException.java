package dev.lorakit;

/**
 * A user-facing error about bad input (a file, a field, an option): its message is one line
 * that names what is wrong and what was expected. The CLI prints it and exits with code 2.
 */
public class BadInputException extends RuntimeException {
    public BadInputException(String message) {
        super(message);
    }

    public BadInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
