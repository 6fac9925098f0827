/*
 * The store's part for the outbox (outbox.h): messages waiting to be
 * sent, and what became of them. A row is "pending" until it is sent or
 * given up ("dead"); which rows are on the wire right now is kept in
 * memory only, so that rows in flight when ferryd died are pending again
 * at the next start.
 */
#include "config.h"

#include <sqlite3.h>
#include <jansson.h>

#include "log.h"
#include "outbox.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

/*
 * Add a pending message, due now. A message whose dedupe key is already
 * taken is not added. Returns the id (the earlier message's for a taken
 * key), or -1 on error. Works inside or outside a transaction.
 */
int64_t
store_outbox_add(struct store *st, const struct store_outbox_new *m)
{
	sqlite3_stmt	*s;
	int64_t		 now = now_ms(), id = -1;
	const char	*sql = "SELECT id FROM outbox WHERE dedupe = ?";

	if (store_exec_args(st, "INSERT INTO outbox (kind, url, method, "
	    "content_type, body, auth, dedupe, state, attempts, next_at, "
	    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?) "
	    "ON CONFLICT (dedupe) DO NOTHING", "sssssssii", m->kind, m->url,
	    m->method, m->content_type, m->body, m->auth, m->dedupe, now,
	    now) != 0)
		return (-1);
	if (sqlite3_changes(store_db(st)) > 0)
		return (sqlite3_last_insert_rowid(store_db(st)));

	/* The key was taken: the earlier message stands for this one. */
	if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK) {
		store_log_error(st, sql);
		return (-1);
	}
	store_bind_text(s, 1, m->dedupe);
	if (sqlite3_step(s) == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	else
		store_log_error(st, sql);
	sqlite3_finalize(s);
	return (id);
}

/*
 * Pending messages, the soonest due first (at most limit), with what it
 * takes to send them.
 */
json_t *
store_outbox_next(struct store *st, int limit)
{
	return (store_query_json(st, "SELECT id, kind, url, method, "
	    "content_type, body, auth, attempts, next_at, created_at FROM "
	    "outbox WHERE "
	    "state = 'pending' ORDER BY next_at, id LIMIT ?", "i",
	    (int64_t)limit));
}

/*
 * Record the end of one attempt at message id: its new state ("sent",
 * "pending" again, or "dead"), when to try again (pending) and why it
 * failed (NULL when sent).
 */
int
store_outbox_done(struct store *st, int64_t id, const char *state,
    int64_t next_at, const char *error)
{
	int64_t	now = now_ms();

	return (store_exec_args(st, "UPDATE outbox SET state = ?, attempts = "
	    "attempts + 1, next_at = ?, last_error = ?, sent_at = CASE WHEN "
	    "? = 'sent' THEN ? ELSE sent_at END WHERE id = ? AND state = "
	    "'pending'", "sissii", state, next_at, error, state, now, id));
}

/* Give up message id without sending it (its auth or URL cannot work). */
int
store_outbox_kill(struct store *st, int64_t id, const char *error)
{
	return (store_exec_args(st, "UPDATE outbox SET state = 'dead', "
	    "last_error = ? WHERE id = ? AND state = 'pending'", "si", error,
	    id));
}

/* How many messages are in state; -1 on error. */
int64_t
store_outbox_count(struct store *st, const char *state)
{
	json_t	*rows;
	int64_t	 n = -1;

	rows = store_query_json(st, "SELECT COUNT(*) AS n FROM outbox WHERE "
	    "state = ?", "s", state);
	if (rows != NULL && json_array_size(rows) == 1)
		n = json_integer_value(json_object_get(json_array_get(rows, 0),
		    "n"));
	json_decref(rows);
	return (n);
}

/*
 * Messages in state (all when NULL), newest first, for the API and the
 * CLI. Bodies are left out (they may hold personal data), and so is the
 * URL but for its host: a chat incoming-webhook URL is its own secret.
 */
json_t *
store_outbox_list(struct store *st, const char *state, int limit)
{
	json_t		*rows, *row;
	size_t		 i;
	const char	*url;
	char		 host[256];

	rows = store_query_json(st, "SELECT id, kind, url, method, "
	    "content_type, auth, dedupe, state, attempts, next_at, "
	    "last_error, created_at, sent_at FROM outbox WHERE (?1 IS NULL "
	    "OR state = ?1) ORDER BY id DESC LIMIT ?2", "si", state,
	    (int64_t)limit);
	if (rows == NULL)
		return (NULL);
	json_array_foreach(rows, i, row) {
		url = json_string_value(json_object_get(row, "url"));
		outbox_url_host(url != NULL ? url : "", host, sizeof host);
		json_object_set_new(row, "host", json_string(host));
		json_object_del(row, "url");
	}
	return (rows);
}

/* Forget sent and dead messages that ended before ms (milliseconds). */
int
store_outbox_prune(struct store *st, int64_t before)
{
	return (store_exec_args(st, "DELETE FROM outbox WHERE state IN "
	    "('sent', 'dead') AND created_at < ?", "i",
	    before));
}
