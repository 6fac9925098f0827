/*
 * The store's part for deployment: what the registry watch has seen (per
 * environment: the last check, the tags and their digests), releases and
 * their approvals. Everything the release manager decides is written here
 * before it acts, so a restart neither deploys twice nor forgets a release.
 */
#include "config.h"

#include <sqlite3.h>
#include <jansson.h>

#include <string.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "util.h"
#include "xmalloc.h"

#define RELEASE_COLUMNS "id, env, repository, tag, digest, source, state, " \
	"reason, approvals_needed, deadline, rollback_of, requested_by, " \
	"result, created_at, updated_at, deployed_at"

/* The first row of a query as an object (a new reference), or NULL. */
static json_t *
store_first(json_t *rows)
{
	json_t	*o = NULL;

	if (rows != NULL && json_array_size(rows) > 0)
		o = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	return (o);
}

/* One integer from a query (0 when there is no row, -1 on error). */
static int64_t
store_int_query(struct store *st, const char *sql, const char *fmt,
    const char *a, const char *b, const char *c)
{
	sqlite3_stmt	*s;
	int64_t		 v = 0;
	const char	*args[3] = { a, b, c };
	int		 i, rc;

	if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK) {
		store_log_error(st, sql);
		return (-1);
	}
	for (i = 0; fmt[i] != '\0' && i < 3; i++)
		store_bind_text(s, i + 1, args[i]);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE) {
		store_log_error(st, sql);
		v = -1;
	}
	sqlite3_finalize(s);
	return (v);
}

int64_t
store_release_add(struct store *st, const struct store_release_new *r)
{
	int64_t	now = now_ms();

	if (store_exec_args(st, "INSERT INTO releases (env, repository, tag, "
	    "digest, source, state, reason, approvals_needed, deadline, "
	    "rollback_of, requested_by, created_at, updated_at) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?, NULLIF(?, 0), NULLIF(?, 0), ?, ?, ?)",
	    "sssssssiiisii", r->env, r->repository, r->tag, r->digest,
	    r->source, r->state, r->reason, (int64_t)r->approvals_needed,
	    r->deadline, r->rollback_of, r->requested_by, now, now) != 0)
		return (-1);
	return (sqlite3_last_insert_rowid(store_db(st)));
}

/* Move a release to state; reason may be NULL. deployed stamps the time. */
int
store_release_set_state(struct store *st, int64_t id, const char *state,
    const char *reason)
{
	int64_t	now = now_ms();

	return (store_exec_args(st, "UPDATE releases SET state = ?, "
	    "reason = ?, updated_at = ?, deployed_at = CASE WHEN ? = "
	    "'deployed' THEN ? ELSE deployed_at END WHERE id = ?", "ssisii",
	    state, reason, now, state, now, id));
}

int
store_release_set_result(struct store *st, int64_t id, const char *result)
{
	return (store_exec_args(st, "UPDATE releases SET result = ? WHERE "
	    "id = ?", "si", result, id));
}

int
store_release_set_digest(struct store *st, int64_t id, const char *digest)
{
	return (store_exec_args(st, "UPDATE releases SET digest = ?, "
	    "reason = NULL, updated_at = ? WHERE id = ?", "sii", digest,
	    now_ms(), id));
}

int
store_release_set_deadline(struct store *st, int64_t id, int64_t deadline)
{
	return (store_exec_args(st, "UPDATE releases SET deadline = "
	    "NULLIF(?, 0) WHERE id = ?", "ii", deadline, id));
}

/* A release with its approvals, or NULL when there is none. */
json_t *
store_release_get(struct store *st, int64_t id)
{
	json_t	*o, *a;

	o = store_first(store_query_json(st, "SELECT " RELEASE_COLUMNS
	    " FROM releases WHERE id = ?", "i", id));
	if (o == NULL)
		return (NULL);
	a = store_query_json(st, "SELECT who, via, decision, reason, at FROM "
	    "approvals WHERE release_id = ? ORDER BY at", "i", id);
	json_object_set_new(o, "approvals", a != NULL ? a : json_array());
	return (o);
}

/* Releases, newest first, of env (all when NULL). */
json_t *
store_releases_list(struct store *st, const char *env, int limit)
{
	return (store_query_json(st, "SELECT " RELEASE_COLUMNS " FROM "
	    "releases WHERE (?1 IS NULL OR env = ?1) ORDER BY id DESC "
	    "LIMIT ?2", "si", env, (int64_t)limit));
}

/* Releases of env still on their way in (not yet deploying), newest first. */
json_t *
store_releases_open(struct store *st, const char *env)
{
	return (store_query_json(st, "SELECT " RELEASE_COLUMNS " FROM "
	    "releases WHERE env = ? AND state IN ('detected', "
	    "'awaiting-approval', 'approved') ORDER BY id DESC", "s", env));
}

/* Releases of env that reached their environment, last deployed first. */
json_t *
store_releases_deployed(struct store *st, const char *env, int limit)
{
	return (store_query_json(st, "SELECT " RELEASE_COLUMNS " FROM "
	    "releases WHERE env = ? AND deployed_at IS NOT NULL ORDER BY "
	    "deployed_at DESC, id DESC LIMIT ?", "si", env, (int64_t)limit));
}

/* Releases in a state, all environments, oldest first. */
json_t *
store_releases_in_state(struct store *st, const char *state)
{
	return (store_query_json(st, "SELECT " RELEASE_COLUMNS " FROM "
	    "releases WHERE state = ? ORDER BY id", "s", state));
}

/*
 * Has env had a release of (tag, digest) that the watch or an operator
 * asked for? Its id, or 0. With latest_only, only the newest such release
 * counts: a mutable tag followed by digest may come back to an earlier
 * digest (a revert), which is then a new release.
 */
int64_t
store_release_seen(struct store *st, const char *env, const char *tag,
    const char *digest, int latest_only)
{
	if (latest_only)
		return (store_int_query(st, "SELECT CASE WHEN tag = ?2 AND "
		    "digest = ?3 THEN id ELSE 0 END FROM releases WHERE "
		    "env = ?1 AND source IN ('watch', 'manual') ORDER BY id "
		    "DESC LIMIT 1", "sss", env, tag, digest));
	return (store_int_query(st, "SELECT id FROM releases WHERE env = ? "
	    "AND tag = ? AND digest = ? AND source IN ('watch', 'manual') "
	    "ORDER BY id DESC LIMIT 1", "sss", env, tag, digest));
}

/* The release of env being deployed now, 0 when none. */
int64_t
store_release_deploying(struct store *st, const char *env)
{
	return (store_int_query(st, "SELECT id FROM releases WHERE env = ? "
	    "AND state = 'deploying' LIMIT 1", "s", env, NULL, NULL));
}

/* Mark releases of env older than id, still on their way in, superseded. */
int
store_releases_supersede(struct store *st, const char *env, int64_t id)
{
	char	reason[64];

	snprintf(reason, sizeof reason, "superseded by release %lld",
	    (long long)id);
	return (store_exec_args(st, "UPDATE releases SET state = "
	    "'superseded', reason = ?, updated_at = ? WHERE env = ? AND "
	    "id < ? AND state IN ('detected', 'awaiting-approval', "
	    "'approved')", "sisi", reason, now_ms(), env, id));
}

/*
 * Record a decision ("approve", "reject") on a release. Returns 1 when it
 * is new, 0 when this person already decided, -1 on error.
 */
int
store_approval_add(struct store *st, int64_t id, const char *who,
    const char *via, const char *decision, const char *reason)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (sqlite3_prepare_v2(store_db(st), "INSERT OR IGNORE INTO approvals "
	    "(release_id, who, via, decision, reason, at) VALUES "
	    "(?, ?, ?, ?, ?, ?)", -1, &s, NULL) != SQLITE_OK) {
		store_log_error(st, "approval");
		return (-1);
	}
	sqlite3_bind_int64(s, 1, id);
	store_bind_text(s, 2, who);
	store_bind_text(s, 3, via);
	store_bind_text(s, 4, decision);
	store_bind_text(s, 5, reason);
	sqlite3_bind_int64(s, 6, now_ms());
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		store_log_error(st, "approval");
		return (-1);
	}
	return (sqlite3_changes(store_db(st)) > 0 ? 1 : 0);
}

int
store_approvals_count(struct store *st, int64_t id)
{
	sqlite3_stmt	*s;
	int		 n = -1;

	if (sqlite3_prepare_v2(store_db(st), "SELECT count(*) FROM approvals "
	    "WHERE release_id = ? AND decision = 'approve'", -1, &s, NULL) !=
	    SQLITE_OK)
		return (-1);
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return (n);
}

/*
 * Has the artifact repository@digest passed acceptance? A bundle carries
 * its own result; an image counts when a bundle of the same run passed.
 * The artifact must have been recorded by that run in that repository: a
 * digest alone would let any project's pipeline vouch for another's.
 * With project, only that project's runs count (environments[].project).
 * Returns 1 passed, 0 failed, -1 when nothing is known yet.
 */
int
store_acceptance_result(struct store *st, const char *repository,
    const char *digest, const char *project)
{
	int64_t	passed, failed;

	passed = store_int_query(st, "SELECT count(*) FROM acceptance c JOIN "
	    "artifacts b ON b.run_id = c.run_id AND b.kind = 'bundle' AND "
	    "b.digest = c.digest WHERE c.result = 'passed' AND EXISTS "
	    "(SELECT 1 FROM artifacts a WHERE a.run_id = c.run_id AND "
	    "a.repository = ?1 AND a.digest = ?2 AND (?3 IS NULL OR "
	    "a.project = ?3))", "sss", repository, digest, project);
	if (passed > 0)
		return (1);
	failed = store_int_query(st, "SELECT count(*) FROM acceptance c JOIN "
	    "artifacts b ON b.run_id = c.run_id AND b.kind = 'bundle' AND "
	    "b.digest = c.digest WHERE EXISTS (SELECT 1 FROM artifacts a "
	    "WHERE a.run_id = c.run_id AND a.repository = ?1 AND "
	    "a.digest = ?2 AND (?3 IS NULL OR a.project = ?3))", "sss",
	    repository, digest, project);
	return (failed > 0 ? 0 : -1);
}

/* The watch's state of env (etag, checked_at, error, failures, paused). */
json_t *
store_watch_get(struct store *st, const char *env)
{
	return (store_first(store_query_json(st, "SELECT env, etag, "
	    "checked_at, error, failures, paused FROM watch_state WHERE "
	    "env = ?", "s", env)));
}

/* Record a check of env: its etag (may be NULL) and error (NULL: none). */
int
store_watch_set(struct store *st, const char *env, const char *etag,
    const char *error, int failures)
{
	return (store_exec_args(st, "INSERT INTO watch_state (env, etag, "
	    "checked_at, error, failures) VALUES (?1, ?2, ?3, ?4, ?5) ON "
	    "CONFLICT (env) DO UPDATE SET etag = ?2, checked_at = ?3, "
	    "error = ?4, failures = ?5", "ssisi", env, etag, now_ms(), error,
	    (int64_t)failures));
}

int
store_watch_pause(struct store *st, const char *env, int paused)
{
	return (store_exec_args(st, "INSERT INTO watch_state (env, paused) "
	    "VALUES (?1, ?2) ON CONFLICT (env) DO UPDATE SET paused = ?2",
	    "si", env, (int64_t)paused));
}

/*
 * The digest the watch saw for a tag, and its creation time: seconds, -1
 * when the artifact has none, -2 when it was not learned.
 */
int
store_watch_tag_get(struct store *st, const char *env, const char *tag,
    char *digest, size_t digestlen, long long *created)
{
	sqlite3_stmt	*s;
	int		 found = 0;

	if (sqlite3_prepare_v2(store_db(st), "SELECT digest, created FROM "
	    "watch_tags WHERE env = ? AND tag = ?", -1, &s, NULL) !=
	    SQLITE_OK)
		return (-1);
	store_bind_text(s, 1, env);
	store_bind_text(s, 2, tag);
	if (sqlite3_step(s) == SQLITE_ROW) {
		found = 1;
		snprintf(digest, digestlen, "%s",
		    (const char *)sqlite3_column_text(s, 0));
		if (created != NULL)
			*created = sqlite3_column_type(s, 1) == SQLITE_NULL ?
			    -2 : sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	return (found);
}

int
store_watch_tag_set(struct store *st, const char *env, const char *tag,
    const char *digest, long long created)
{
	return (store_exec_args(st, "INSERT INTO watch_tags (env, tag, digest, "
	    "created, seen_at) VALUES (?1, ?2, ?3, NULLIF(?4, -2), ?5) ON "
	    "CONFLICT (env, tag) DO UPDATE SET digest = ?3, created = "
	    "NULLIF(?4, -2), seen_at = ?5", "sssii", env, tag, digest,
	    (int64_t)created, now_ms()));
}

/*
 * Everything the watch knows of env's tags: an object keyed by tag of
 * {digest, created} (created null when not learned). New reference.
 */
json_t *
store_watch_tags(struct store *st, const char *env)
{
	json_t	*rows, *o, *r;
	size_t	 i;

	o = json_object();
	if ((rows = store_query_json(st, "SELECT tag, digest, created FROM "
	    "watch_tags WHERE env = ?", "s", env)) == NULL)
		return (o);
	json_array_foreach(rows, i, r) {
		json_object_set(o, json_string_value(json_object_get(r, "tag")),
		    r);
		json_object_del(r, "tag");
	}
	json_decref(rows);
	return (o);
}

/* Forget what the watch knew of a tag (it was pushed again). */
int
store_watch_tag_forget(struct store *st, const char *env, const char *tag)
{
	return (store_exec_args(st, "DELETE FROM watch_tags WHERE env = ? AND "
	    "tag = ?", "ss", env, tag));
}

/*
 * Who pushed the commits that an artifact with this digest was built
 * from: the distinct senders of the webhooks of the runs that recorded it,
 * as a JSON array of strings (empty when no run did, or none had a
 * sender); NULL when the store fails. All of them, not the newest: another
 * run that claims the same artifact must not hide its pusher, nor a merge
 * of the commit (one run with its push) its merger. By digest
 * alone, in any repository: this rule refuses, so it must not miss a run
 * because the repository was spelled otherwise (host:443, an alias).
 */
json_t *
store_artifact_senders(struct store *st, const char *digest)
{
	json_t	*rows, *row, *out;
	size_t	 i;

	/* run_senders since migration 7; the run's own event before it. */
	rows = store_query_json(st, "SELECT DISTINCT sender FROM (SELECT "
	    "s.sender AS sender FROM artifacts a JOIN run_senders s ON "
	    "s.run_id = a.run_id WHERE a.digest = ?1 UNION SELECT "
	    "json_extract(r.event, '$.sender') FROM artifacts a JOIN runs r "
	    "ON r.id = a.run_id WHERE a.digest = ?1) WHERE sender IS NOT NULL "
	    "AND sender <> '' ORDER BY sender", "s", digest);
	if (rows == NULL)
		return (NULL);
	out = json_array();
	json_array_foreach(rows, i, row)
		json_array_append(out, json_object_get(row, "sender"));
	json_decref(rows);
	return (out);
}

/* Record a decision or a refused attempt in the audit table. */
int
store_audit_add(struct store *st, const char *who, const char *via,
    const char *action, const char *target, const char *result,
    const char *detail, const char *origin)
{
	return (store_exec_args(st, "INSERT INTO audit (at, who, via, action, "
	    "target, result, detail, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	    "isssssss", now_ms(), who, via, action, target, result, detail,
	    origin));
}

/* The audit, newest first. */
json_t *
store_audit_list(struct store *st, int limit)
{
	return (store_query_json(st, "SELECT id, at, who, via, action, target, "
	    "result, detail, origin FROM audit ORDER BY id DESC LIMIT ?", "i",
	    (int64_t)limit));
}
