message(FATAL_ERROR todo)
