/*
 * store_int.h: what the store's files share (store.c, store_release.c):
 * the connection and small statement helpers. Not for other modules.
 */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <sqlite3.h>
#include <jansson.h>

struct store;

sqlite3	*store_db(struct store *);
void	 store_log_error(struct store *, const char *);
void	 store_bind_text(sqlite3_stmt *, int, const char *);
json_t	*store_column_json(sqlite3_stmt *, int);
/* fmt: one letter per parameter, 's' text (NULL binds NULL), 'i' int64. */
int	 store_exec_args(struct store *, const char *, const char *, ...);
json_t	*store_query_json(struct store *, const char *, const char *, ...);

#endif
