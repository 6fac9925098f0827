/*
 * Child processes on the event loop (tmux's job.c pattern).
 *
 * DESIGN: exec_start forks; the child makes itself a process group leader,
 * resets its signals, moves to its directory and execs with exactly the
 * environment it was given. Its stdout and stderr share one pipe, which the
 * loop reads; every line is written to the log with a UTC timestamp until
 * the log reaches its cap, after which one note says so and the rest is
 * read and dropped (the child must never block on a full pipe). SIGCHLD is
 * a libevent signal event that reaps with waitpid(WNOHANG). A job completes
 * when its process has exited and its pipe is at EOF; a grandchild that
 * keeps the pipe open does not hold the job for more than a few seconds
 * after the process has exited, and is killed with the group. A timeout or
 * a cancel sends SIGTERM to the group, and SIGKILL after the grace period.
 *
 * ISOLATION: a job given an exec_isolation (the stages) runs in user and
 * mount namespaces of its own, and a PID namespace where /proc can be
 * mounted. The child C (the group leader ferryd knows) clones I into a
 * new user namespace (and PID namespace: I is its pid 1) and writes I's
 * maps, ferryd's uid and gid to themselves, so files keep their owners;
 * written from outside, with ferryd's rights, so that a root ferryd's
 * stages keep setgroups(2). I covers what the plan hides with an empty
 * read-only tmpfs (folders) or /dev/null (files and the API socket), binds
 * the paths the stage needs back through the tmpfs from descriptors opened
 * before, mounts a /proc of its own (ferryd and other jobs are not in it,
 * so no /proc/PID/root, environ or mem of theirs) and clones S, the stage,
 * into a second user and mount namespace: the kernel locks mounts that
 * come from a more privileged namespace, so even a stage that is root
 * inside cannot unmount the covers to look under them. C and I only wait
 * and pass S's exit status on; the group's SIGTERM is for S; when I ends,
 * the kernel kills whatever S left in the PID namespace.
 */
#include "config.h"

#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <event2/event.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"

extern char **environ;
#include "log.h"
#include "xmalloc.h"

#define EXEC_DRAIN_MS	3000	/* output awaited after the process exits */
#define EXEC_LINE_MAX	8192	/* longer lines are split */

struct exec_job {
	pid_t			 pid;
	int			 out;		/* read end of the pipe */
	int			 log;		/* log file */
	int			 own_log;	/* we opened it */
	size_t			 log_max;
	size_t			 logged;
	int			 truncated;
	int			 echo;
	char			 line[EXEC_LINE_MAX];
	size_t			 linelen;
	struct event		*read_ev;
	struct event		*timer;		/* timeout, then grace */
	int64_t			 grace_ms;
	int			 exited;
	int			 status;
	int			 timed_out;
	int			 canceled;
	int			 term_sent;
	int			 done;
	exec_done_cb		 cb;
	void			*arg;
	void			(*arg_free)(void *);
	LIST_ENTRY(exec_job)	 entry;
};

static struct event_base	*exec_base;
static struct event		*exec_sigchld;
static LIST_HEAD(, exec_job)	 exec_jobs = LIST_HEAD_INITIALIZER(exec_jobs);
static int			 exec_njobs;

/* What the child of an isolated job mounts; built before the fork. */
struct exec_plan {
	char		**dirs;		/* covered by an empty tmpfs */
	int		 *dir_on;	/* the child did cover it */
	size_t		  ndirs;
	char		**files;	/* covered by /dev/null */
	size_t		  nfiles;
	char		**keeps;	/* bound back through a cover */
	int		 *keep_ro;
	int		 *keep_fd;
	size_t		  nkeeps;
	char		**gone;		/* secrets not there to cover */
	size_t		  ngone;
	int		  pidns;
	char		  uid_map[64];
	char		  gid_map[64];
};

/* What the kernel allows, found once by exec_iso_probe. */
#define EXEC_ISO_UNKNOWN	0
#define EXEC_ISO_FULL		1	/* user, mount and PID namespaces */
#define EXEC_ISO_NOPID		2	/* no /proc of our own */
#define EXEC_ISO_NONE		3
#define EXEC_ISO_RETRY		60	/* seconds a failed probe is kept */
static int			 exec_iso_state = EXEC_ISO_UNKNOWN;
static int			 exec_iso_transient;	/* probe again soon */
static time_t			 exec_iso_when;	/* of the probe, monotonic */
static char			 exec_iso_why[256];	/* why not FULL */
static char			 exec_iso_err[512];	/* in the child */
static int			 exec_iso_errno;	/* in the child */
static pid_t			 exec_parent;	/* in a job's child: ferryd */

static void	exec_reap_cb(evutil_socket_t, short, void *);
static void	exec_maybe_done(struct exec_job *);

/* Set up SIGCHLD handling on base. */
void
exec_init(struct event_base *base)
{
	exec_base = base;
	/*
	 * Not dumpable: a process of our uid without capabilities (a stage
	 * run without isolation) cannot ptrace ferryd nor open its
	 * /proc/PID/mem, environ, root or fd/. One in a user namespace of
	 * its own cannot anyway.
	 */
	prctl(PR_SET_DUMPABLE, 0);
	exec_sigchld = evsignal_new(base, SIGCHLD, exec_reap_cb, NULL);
	evsignal_add(exec_sigchld, NULL);
}

/*
 * Kill every job's process group and forget the jobs without calling
 * their callbacks; used when the daemon stops.
 */
void
exec_shutdown(void)
{
	struct exec_job	*job;

	while ((job = LIST_FIRST(&exec_jobs)) != NULL) {
		LIST_REMOVE(job, entry);
		if (!job->exited)
			kill(-job->pid, SIGKILL);
		if (job->read_ev != NULL)
			event_free(job->read_ev);
		if (job->out != -1)
			close(job->out);
		event_free(job->timer);
		if (job->own_log && job->log != -1)
			close(job->log);
		if (job->arg_free != NULL)
			job->arg_free(job->arg);
		free(job);
	}
	exec_njobs = 0;
	if (exec_sigchld != NULL) {
		event_free(exec_sigchld);
		exec_sigchld = NULL;
	}
}

/* Jobs whose completion callback has not run yet. */
int
exec_running(void)
{
	return (exec_njobs);
}

pid_t
exec_pid(const struct exec_job *job)
{
	return (job->pid);
}

/* Write all of buf to fd, retrying short writes. */
static void
exec_write_all(int fd, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void
exec_strcat(char *dst, const char *src, size_t len)
{
	size_t	n = strlen(dst);

	if (n + 1 < len)
		snprintf(dst + n, len - n, "%s", src);
}

/* "2026-11-26T05:30:01.123Z " into buf (at least 26 bytes). */
static void
exec_stamp(char *buf, size_t len)
{
	struct timespec	ts;
	struct tm	tm;

	char		ms[8];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		buf[0] = '\0';
	snprintf(ms, sizeof ms, ".%03dZ ", (int)(ts.tv_nsec / 1000000));
	exec_strcat(buf, ms, len);
}

/* Append one timestamped line (ferry's own notes) to a log fd. */
void
exec_log_line(int fd, const char *fmt, ...)
{
	char	 stamp[32], *msg, *line;
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatal("vasprintf");
	va_end(ap);
	exec_stamp(stamp, sizeof stamp);
	n = xasprintf(&line, "%s%s\n", stamp, msg);
	exec_write_all(fd, line, (size_t)n);
	free(line);
	free(msg);
}

/* Append a note of ferry's own, with a timestamp, to the log at path. */
void
exec_log_note(const char *path, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;
	int	 fd;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatal("vasprintf");
	va_end(ap);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0640)) != -1) {
		exec_log_line(fd, "ferry: %s", msg);
		close(fd);
	}
	free(msg);
}

/* One line of output into the log, within the cap. */
static void
exec_emit(struct exec_job *job, const char *text, size_t len)
{
	char	stamp[32], note[128];
	size_t	slen;

	if (job->echo) {
		exec_write_all(STDERR_FILENO, text, len);
		exec_write_all(STDERR_FILENO, "\n", 1);
	}
	if (job->truncated || job->log == -1)
		return;
	exec_stamp(stamp, sizeof stamp);
	slen = strlen(stamp);
	if (job->log_max != 0 && job->logged + slen + len + 1 > job->log_max) {
		snprintf(note, sizeof note, "%s[ferry: log truncated at %zu "
		    "bytes; further output dropped]\n", stamp, job->log_max);
		exec_write_all(job->log, note, strlen(note));
		job->truncated = 1;
		return;
	}
	exec_write_all(job->log, stamp, slen);
	exec_write_all(job->log, text, len);
	exec_write_all(job->log, "\n", 1);
	job->logged += slen + len + 1;
}

/* Split what was read into lines. */
static void
exec_take(struct exec_job *job, const char *buf, size_t len)
{
	const char	*nl;
	size_t		 n;

	while (len > 0) {
		nl = memchr(buf, '\n', len);
		n = nl != NULL ? (size_t)(nl - buf) : len;
		if (job->linelen + n >= sizeof job->line) {
			n = sizeof job->line - 1 - job->linelen;
			nl = NULL;
		}
		memcpy(job->line + job->linelen, buf, n);
		job->linelen += n;
		buf += n;
		len -= n;
		if (nl != NULL || job->linelen == sizeof job->line - 1) {
			exec_emit(job, job->line, job->linelen);
			job->linelen = 0;
			if (nl != NULL) {
				buf++;
				len--;
			}
		}
	}
}

static void
exec_close_output(struct exec_job *job)
{
	if (job->linelen > 0) {
		exec_emit(job, job->line, job->linelen);
		job->linelen = 0;
	}
	if (job->read_ev != NULL) {
		event_free(job->read_ev);
		job->read_ev = NULL;
	}
	if (job->out != -1) {
		close(job->out);
		job->out = -1;
	}
}

static void
exec_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_job	*job = arg;
	char		 buf[16384];
	ssize_t		 n;

	n = read(fd, buf, sizeof buf);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		exec_close_output(job);
		exec_maybe_done(job);
		return;
	}
	exec_take(job, buf, (size_t)n);
}

static void
exec_arm(struct exec_job *job, int64_t ms)
{
	struct timeval	tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(job->timer, &tv);
}

/*
 * The job's timer: the timeout (SIGTERM to the group, then wait for the
 * grace period), the end of the grace period (SIGKILL), or, once the
 * process has exited, the end of the wait for its output.
 */
static void
exec_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_job	*job = arg;

	if (job->exited) {
		/* A grandchild holds the pipe: kill the group, stop reading. */
		kill(-job->pid, SIGKILL);
		exec_close_output(job);
		exec_maybe_done(job);
		return;
	}
	if (!job->term_sent) {
		job->timed_out = !job->canceled;
		job->term_sent = 1;
		kill(-job->pid, SIGTERM);
		exec_arm(job, job->grace_ms);
		return;
	}
	kill(-job->pid, SIGKILL);
}

static void
exec_maybe_done(struct exec_job *job)
{
	if (job->done || !job->exited || job->out != -1)
		return;
	job->done = 1;
	evtimer_del(job->timer);
	event_free(job->timer);
	if (job->own_log && job->log != -1)
		close(job->log);
	LIST_REMOVE(job, entry);
	exec_njobs--;
	job->cb(job, job->status, job->timed_out, job->canceled, job->arg);
	free(job);
}

static void
exec_reap_cb(evutil_socket_t sig, short what, void *arg)
{
	struct exec_job	*job, *next;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (job = LIST_FIRST(&exec_jobs); job != NULL; job = next) {
			next = LIST_NEXT(job, entry);
			if (job->pid != pid || job->exited)
				continue;
			job->exited = 1;
			/*
			 * The leader is gone: whatever it left behind in its
			 * group (a background child, one that ignored
			 * SIGTERM) goes with it.
			 */
			kill(-job->pid, SIGKILL);
			if (WIFEXITED(status))
				job->status = WEXITSTATUS(status);
			else if (WIFSIGNALED(status))
				job->status = 128 + WTERMSIG(status);
			else
				job->status = 255;
			/* Take what output is left, but not forever. */
			evtimer_del(job->timer);
			if (job->out != -1)
				exec_arm(job, EXEC_DRAIN_MS);
			else
				exec_maybe_done(job);
			break;
		}
	}
}

/* Add a copy of path to a list (for exec_isolation). */
void
exec_isolation_add(char ***v, size_t *n, const char *path)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = xstrdup(path);
}

static void
exec_strv_free(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
exec_isolation_free(struct exec_isolation *iso)
{
	if (iso == NULL)
		return;
	exec_strv_free(iso->hide, iso->nhide);
	exec_strv_free(iso->secrets, iso->nsecrets);
	exec_strv_free(iso->keep, iso->nkeep);
	exec_strv_free(iso->keep_ro, iso->nkeep_ro);
	memset(iso, 0, sizeof *iso);
}

/* Is path a or below b? */
static int
exec_path_under(const char *a, const char *b)
{
	size_t	n = strlen(b);

	if (strcmp(b, "/") == 0)
		return (1);
	return (strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/'));
}

/*
 * Folders that hold what any program needs: never covered, whatever the
 * configuration says. A secret in one of them is covered file by file.
 */
static int
exec_path_is_shared(const char *path)
{
	static const char *shared[] = { "/", "/bin", "/boot", "/dev",
	    "/dev/shm", "/etc", "/home", "/lib", "/lib64", "/media", "/mnt",
	    "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp",
	    "/usr", "/usr/bin", "/usr/lib", "/usr/local", "/usr/local/bin",
	    "/usr/local/etc", "/usr/local/lib", "/usr/sbin", "/usr/share",
	    "/var", "/var/lib", "/var/run", "/var/tmp", NULL };
	size_t		 i;

	for (i = 0; shared[i] != NULL; i++)
		if (strcmp(path, shared[i]) == 0)
			return (1);
	return (0);
}

static void
exec_plan_free(struct exec_plan *pl)
{
	exec_strv_free(pl->dirs, pl->ndirs);
	exec_strv_free(pl->files, pl->nfiles);
	exec_strv_free(pl->keeps, pl->nkeeps);
	free(pl->dir_on);
	free(pl->keep_ro);
	free(pl->keep_fd);
	exec_strv_free(pl->gone, pl->ngone);
	memset(pl, 0, sizeof *pl);
}

/* Is path under a folder the plan covers? */
static int
exec_plan_covers(const struct exec_plan *pl, const char *path)
{
	size_t	i;

	for (i = 0; i < pl->ndirs; i++)
		if (exec_path_under(path, pl->dirs[i]))
			return (1);
	return (0);
}

/* Cover path (canonical), as a folder or a file, once. */
static void
exec_plan_hide(struct exec_plan *pl, const char *path)
{
	struct stat	st;
	size_t		i;

	/*
	 * Paths inside another cover stay: a kept path may bring them back
	 * (work_dir inside $HOME); the child skips those that are not there.
	 */
	if (stat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		for (i = 0; i < pl->nfiles; i++)
			if (strcmp(pl->files[i], path) == 0)
				return;
		exec_isolation_add(&pl->files, &pl->nfiles, path);
		return;
	}
	if (exec_path_is_shared(path))
		return;
	for (i = 0; i < pl->ndirs; i++)
		if (strcmp(pl->dirs[i], path) == 0)
			return;
	exec_isolation_add(&pl->dirs, &pl->ndirs, path);
}

/*
 * Canonical paths of a list; those that do not exist are left out, and
 * added to gone if it is given.
 */
static char **
exec_plan_real(char *const *v, size_t n, size_t *np, struct exec_plan *gone)
{
	char	**out = NULL, *r;
	size_t	  i;

	*np = 0;
	for (i = 0; i < n; i++)
		if ((r = realpath(v[i], NULL)) != NULL) {
			exec_isolation_add(&out, np, r);
			free(r);
		} else if (gone != NULL)
			exec_isolation_add(&gone->gone, &gone->ngone, v[i]);
	return (out);
}

/* Shorter paths first, for qsort(3). */
static int
exec_plan_cmp(const void *a, const void *b)
{
	size_t	la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

	return (la < lb ? -1 : la > lb);
}

/* What the child mounts, from what the caller asked. */
static void
exec_plan_build(const struct exec_isolation *iso, struct exec_plan *pl)
{
	char	**hide, **secrets, **keep, **keep_ro, *dir, *slash;
	size_t	  nhide, nsecrets, nkeep, nkeep_ro, i, j;
	int	  holds;

	memset(pl, 0, sizeof *pl);
	pl->pidns = exec_iso_state == EXEC_ISO_FULL;
	snprintf(pl->uid_map, sizeof pl->uid_map, "%lu %lu 1\n",
	    (unsigned long)geteuid(), (unsigned long)geteuid());
	snprintf(pl->gid_map, sizeof pl->gid_map, "%lu %lu 1\n",
	    (unsigned long)getegid(), (unsigned long)getegid());
	hide = exec_plan_real(iso->hide, iso->nhide, &nhide, NULL);
	/*
	 * A secret not there has been moved (the configuration named it and
	 * ferryd read it): by whom, and where to, the plan cannot know.
	 */
	secrets = exec_plan_real(iso->secrets, iso->nsecrets, &nsecrets, pl);
	keep = exec_plan_real(iso->keep, iso->nkeep, &nkeep, NULL);
	keep_ro = exec_plan_real(iso->keep_ro, iso->nkeep_ro, &nkeep_ro, NULL);

	for (i = 0; i < nhide; i++)
		exec_plan_hide(pl, hide[i]);
	for (i = 0; i < nsecrets; i++) {
		dir = xstrdup(secrets[i]);
		if ((slash = strrchr(dir, '/')) != NULL)
			*(slash == dir ? slash + 1 : slash) = '\0';
		/*
		 * The secret's folder, unless others need it too: a shared
		 * one, or one that holds what the stage keeps (a test's
		 * folder holding the state directory, say).
		 */
		holds = exec_path_is_shared(dir);
		for (j = 0; j < nkeep && !holds; j++)
			holds = exec_path_under(keep[j], dir);
		for (j = 0; j < nkeep_ro && !holds; j++)
			holds = exec_path_under(keep_ro[j], dir);
		exec_plan_hide(pl, holds ? secrets[i] : dir);
		free(dir);
	}
	for (i = 0; i < nkeep + nkeep_ro; i++) {
		const char *k = i < nkeep ? keep[i] : keep_ro[i - nkeep];
		int ro = i >= nkeep;

		/* Writable kept paths need a way through a cover only. */
		if (!ro && !exec_plan_covers(pl, k))
			continue;
		pl->keep_ro = xreallocarray(pl->keep_ro, pl->nkeeps + 1,
		    sizeof *pl->keep_ro);
		pl->keep_fd = xreallocarray(pl->keep_fd, pl->nkeeps + 1,
		    sizeof *pl->keep_fd);
		pl->keep_ro[pl->nkeeps] = ro;
		pl->keep_fd[pl->nkeeps] = -1;
		exec_isolation_add(&pl->keeps, &pl->nkeeps, k);
	}
	qsort(pl->dirs, pl->ndirs, sizeof *pl->dirs, exec_plan_cmp);
	pl->dir_on = xcalloc(pl->ndirs + 1, sizeof *pl->dir_on);
	/* Insertion sort: keep_ro moves with its path. */
	for (i = 1; i < pl->nkeeps; i++)
		for (j = i; j > 0 && strlen(pl->keeps[j - 1]) >
		    strlen(pl->keeps[j]); j--) {
			char *t = pl->keeps[j];
			int ro = pl->keep_ro[j];

			pl->keeps[j] = pl->keeps[j - 1];
			pl->keep_ro[j] = pl->keep_ro[j - 1];
			pl->keeps[j - 1] = t;
			pl->keep_ro[j - 1] = ro;
		}
	exec_strv_free(hide, nhide);
	exec_strv_free(secrets, nsecrets);
	exec_strv_free(keep, nkeep);
	exec_strv_free(keep_ro, nkeep_ro);
}

/* In the child: note why a step failed, for the log. Returns -1. */
static int
exec_iso_fail(const char *what, const char *path)
{
	exec_iso_errno = errno;
	snprintf(exec_iso_err, sizeof exec_iso_err, "%s%s%s: %s", what,
	    path != NULL ? " " : "", path != NULL ? path : "",
	    strerror(errno));
	return (-1);
}

static int
exec_iso_write(const char *path, const char *text)
{
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = write(fd, text, strlen(text));
	close(fd);
	return (n == (ssize_t)strlen(text) ? 0 : -1);
}

/*
 * Write the maps of pid's new user namespace, from the namespace it came
 * from. Where we have CAP_SETGID (ferryd as root, or I for S) setgroups(2)
 * stays allowed, which buildah and sudo need; without, it must be turned
 * off first. Returns 0, or -1 with exec_iso_err set.
 */
static int
exec_iso_maps(pid_t pid, const struct exec_plan *pl)
{
	char	path[64];

	snprintf(path, sizeof path, "/proc/%ld/uid_map", (long)pid);
	if (exec_iso_write(path, pl->uid_map) == -1)
		return (exec_iso_fail("write", path));
	snprintf(path, sizeof path, "/proc/%ld/gid_map", (long)pid);
	if (exec_iso_write(path, pl->gid_map) == 0)
		return (0);
	if (errno != EPERM)
		return (exec_iso_fail("write", path));
	snprintf(path, sizeof path, "/proc/%ld/setgroups", (long)pid);
	if (exec_iso_write(path, "deny") == -1)
		return (exec_iso_fail("write", path));
	snprintf(path, sizeof path, "/proc/%ld/gid_map", (long)pid);
	if (exec_iso_write(path, pl->gid_map) == -1)
		return (exec_iso_fail("write", path));
	return (0);
}

/*
 * fork(2) into new namespaces. clone3(2) has one argument layout on every
 * architecture; clone(2), for kernels before 5.3 and for seccomp profiles
 * that refuse clone3 with EPERM rather than ENOSYS (older Docker and
 * container runtimes), has the x86 one, which with a NULL stack is that
 * of most others too (not s390's).
 */
static pid_t
exec_iso_raw_clone(int flags)
{
#ifdef SYS_clone3
	struct {
		uint64_t	flags, pidfd, child_tid, parent_tid;
		uint64_t	exit_signal, stack, stack_size, tls;
	}		ca;
	long		pid;

	memset(&ca, 0, sizeof ca);
	ca.flags = (uint64_t)(unsigned int)flags;
	ca.exit_signal = SIGCHLD;
	if ((pid = syscall(SYS_clone3, &ca, sizeof ca)) != -1 ||
	    (errno != ENOSYS && errno != EPERM))
		return ((pid_t)pid);
#endif
	return ((pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL,
	    NULL));
}

/*
 * In the child: start a process in a new user and mount namespace (and
 * flags), mapping it to ourselves. Like fork: returns its pid here, 0 in
 * it once its maps are written, -1 with exec_iso_err set. A raw clone(2)
 * is safe here: we are a single-threaded child of ferryd.
 */
static pid_t
exec_iso_clone(const struct exec_plan *pl, int flags)
{
	pid_t	pid;
	int	ready[2], go[2];
	char	c = 0;

	if (pipe2(ready, O_CLOEXEC) == -1)
		return (exec_iso_fail("pipe", NULL));
	if (pipe2(go, O_CLOEXEC) == -1) {
		close(ready[0]);
		close(ready[1]);
		return (exec_iso_fail("pipe", NULL));
	}
	pid = exec_iso_raw_clone(CLONE_NEWUSER | CLONE_NEWNS | flags);
	if (pid == 0) {
		/*
		 * clone(2) clears the parent-death signal: without a PID
		 * namespace nothing else ends a stage whose parents died.
		 * A parent gone before this shows as EOF on go below.
		 */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(ready[0]);
		close(go[1]);
		/*
		 * Our /proc files are open to the parent only while we are
		 * dumpable; but a dumpable copy of ferryd's memory (I) would
		 * be open to the stage through /proc/PID/mem: only for this.
		 */
		prctl(PR_SET_DUMPABLE, 1);
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1 ||
		    c != 0)
			_exit(126);
		prctl(PR_SET_DUMPABLE, 0);
		close(ready[1]);
		close(go[0]);
		return (0);
	}
	close(ready[1]);
	close(go[0]);
	if (pid == -1)
		exec_iso_fail("clone", NULL);
	else if (read(ready[0], &c, 1) != 1)
		exec_iso_fail("clone", "(the child is gone)");
	else if (exec_iso_maps(pid, pl) == 0) {
		c = 0;
		if (write(go[1], &c, 1) == 1) {
			close(ready[0]);
			close(go[1]);
			return (pid);
		}
		exec_iso_fail("pipe", NULL);
	}
	close(ready[0]);
	close(go[1]);
	if (pid > 0)
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
	return (-1);
}

/* The lockable flags of the mount at path, which a remount must keep. */
static unsigned long
exec_iso_mount_flags(const char *path)
{
	struct statvfs	sv;
	unsigned long	fl = 0;

	if (statvfs(path, &sv) != 0)
		return (0);
	if (sv.f_flag & ST_NOSUID)
		fl |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		fl |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		fl |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		fl |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		fl |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		fl |= MS_RELATIME;
	return (fl);
}

/* mkdir -p of path's components below top (a fresh tmpfs). */
static int
exec_iso_mkdirs(const char *top, const char *path)
{
	char	buf[PATH_MAX], *p;
	size_t	n = strlen(top);

	if (strlen(path) <= n + 1 ||
	    snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return (0);
	for (p = buf + n + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return (-1);
		*p = '/';
	}
	if (mkdir(buf, 0755) == -1 && errno != EEXIST)
		return (-1);
	return (0);
}

/* In the child: bring kept path i back through the covers. */
static int
exec_iso_keep(struct exec_plan *pl, size_t i)
{
	char		 src[64];
	const char	*top = NULL;
	size_t		 j;
	unsigned long	 fl;

	/* Its folder in the innermost cover over it, if any. */
	for (j = 0; j < pl->ndirs; j++)
		if (pl->dir_on[j] &&
		    exec_path_under(pl->keeps[i], pl->dirs[j]) &&
		    (top == NULL || strlen(pl->dirs[j]) > strlen(top)))
			top = pl->dirs[j];
	if (top != NULL && exec_iso_mkdirs(top, pl->keeps[i]) == -1)
		return (exec_iso_fail("mkdir", pl->keeps[i]));
	snprintf(src, sizeof src, "/proc/self/fd/%d", pl->keep_fd[i]);
	if (mount(src, pl->keeps[i], NULL, MS_BIND | MS_REC, NULL) == -1)
		return (exec_iso_fail("bind", pl->keeps[i]));
	close(pl->keep_fd[i]);
	pl->keep_fd[i] = -1;
	if (!pl->keep_ro[i])
		return (0);
	fl = exec_iso_mount_flags(pl->keeps[i]);
	if (mount(NULL, pl->keeps[i], NULL, MS_REMOUNT | MS_BIND | MS_RDONLY |
	    fl, NULL) == -1)
		return (exec_iso_fail("make read-only", pl->keeps[i]));
	return (0);
}

/*
 * In the child, in its first user namespace: put the covers on. Covers
 * and kept paths go on outside in (both lists are sorted by length), so
 * a folder of ours inside a kept one (work_dir inside $HOME, say) is
 * covered again after the kept one came back whole. A path that is not
 * there (under another cover) has nothing to hide.
 */
static int
exec_iso_mount(struct exec_plan *pl)
{
	size_t	i, j;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		return (exec_iso_fail("make mounts private", NULL));
	/* What comes back through the covers, reached before they are on. */
	for (i = 0; i < pl->nkeeps; i++)
		if ((pl->keep_fd[i] = open(pl->keeps[i], O_PATH |
		    O_DIRECTORY | O_CLOEXEC)) == -1)
			return (exec_iso_fail("open", pl->keeps[i]));
	for (i = j = 0; i < pl->ndirs || j < pl->nkeeps;) {
		if (j < pl->nkeeps && (i == pl->ndirs ||
		    strlen(pl->keeps[j]) < strlen(pl->dirs[i]))) {
			if (exec_iso_keep(pl, j++) == -1)
				return (-1);
			continue;
		}
		if (mount("tmpfs", pl->dirs[i], "tmpfs", MS_NOSUID | MS_NODEV |
		    MS_NOEXEC, "size=64k,nr_inodes=256,mode=0755") == 0)
			pl->dir_on[i] = 1;
		else if (errno != ENOENT)
			return (exec_iso_fail("mount tmpfs on", pl->dirs[i]));
		i++;
	}
	for (i = 0; i < pl->nfiles; i++)
		if (mount("/dev/null", pl->files[i], NULL, MS_BIND,
		    NULL) == -1 && errno != ENOENT)
			return (exec_iso_fail("cover", pl->files[i]));
	for (i = 0; i < pl->ndirs; i++)
		if (pl->dir_on[i] && mount(NULL, pl->dirs[i], NULL,
		    MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV |
		    MS_NOEXEC, NULL) == -1)
			return (exec_iso_fail("make read-only", pl->dirs[i]));
	return (0);
}

/*
 * Make path (and what is mounted below it) read-only, from here on in.
 * mount_setattr(2) (Linux 5.12) reaches every mount below; a remount only
 * the top one, which is all of /proc/sys and most of /sys.
 */
static int
exec_iso_readonly(const char *path)
{
#ifdef SYS_mount_setattr
	struct {
		uint64_t	attr_set, attr_clr, propagation, userns_fd;
	}		ma;

	memset(&ma, 0, sizeof ma);
	ma.attr_set = 0x1;	/* MOUNT_ATTR_RDONLY */
	if (syscall(SYS_mount_setattr, AT_FDCWD, path, 0x8000 /* AT_RECURSIVE */,
	    &ma, sizeof ma) == 0)
		return (0);
	if (errno != ENOSYS && errno != EPERM && errno != EINVAL)
		return (-1);
#endif
	return (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY |
	    exec_iso_mount_flags(path), NULL));
}

/*
 * In I: the kernel's knobs read-only. A root ferryd's stage is uid 0 of
 * the whole system (its map is "0 0 1", so that buildah works), and the
 * kernel checks /proc/sys and sysfs files by uid alone: without this a
 * stage could write kernel.core_pattern (and have the next crash run its
 * program as root outside every namespace) or any root-owned sysfs file.
 * Mounted here, in I's namespace, these are locked in S's: the stage
 * cannot unmount them or make them writable again.
 */
static int
exec_iso_kernel_ro(void)
{
	static const char	*paths[] = { "/proc/sys", "/proc/sysrq-trigger",
				    "/proc/irq", "/proc/bus", "/sys" };
	size_t			 i;

	for (i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		if (mount(paths[i], paths[i], NULL, MS_BIND | MS_REC,
		    NULL) == -1) {
			if (errno == ENOENT)
				continue;
			return (exec_iso_fail("bind", paths[i]));
		}
		if (exec_iso_readonly(paths[i]) == -1)
			return (exec_iso_fail("make read-only", paths[i]));
	}
	return (0);
}

/* Wait for pid (reaping any other child) and pass its status on. */
static void __attribute__((__noreturn__))
exec_iso_wait(pid_t pid)
{
	pid_t	w;
	int	status;

	for (;;) {
		w = waitpid(-1, &status, 0);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			_exit(255);
		if (w != pid)
			continue;
		if (WIFEXITED(status))
			_exit(WEXITSTATUS(status));
		_exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255);
	}
}

/* C's parent-death signal: the whole group goes, C too. */
static void
exec_iso_group_kill(int sig)
{
	kill(0, SIGKILL);
}

/*
 * In the child C: enter the namespaces. Returns in S, the process that
 * is to exec, or -1 with exec_iso_err set (in C or I).
 */
static int
exec_iso_enter(struct exec_plan *pl)
{
	pid_t	pid;

	/* I: pid 1 of a PID namespace where there is one. */
	if ((pid = exec_iso_clone(pl, pl->pidns ? CLONE_NEWPID : 0)) == -1)
		return (-1);
	if (pid > 0) {
		/* C: the group's SIGTERM is for the stage. */
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		/*
		 * Without a PID namespace, what the stage started in the
		 * background would outlive a ferryd killed (nobody kills the
		 * group then): C takes the group along when ferryd dies.
		 * Not the probe's C, which is in ferryd's group.
		 */
		if (exec_parent != 0) {
			signal(SIGUSR1, exec_iso_group_kill);
			prctl(PR_SET_PDEATHSIG, SIGUSR1);
			if (getppid() != exec_parent)
				kill(0, SIGKILL);
		}
		exec_iso_wait(pid);
	}
	/* I dies with C (exec_iso_clone) and takes the PID namespace along. */
	prctl(PR_SET_NAME, "ferry-init");
	if (exec_iso_mount(pl) == -1)
		return (-1);
	if (pl->pidns && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV |
	    MS_NOEXEC, NULL) == -1)
		return (exec_iso_fail("mount", "/proc"));
	if (exec_iso_kernel_ro() == -1)
		return (-1);
	/*
	 * S, in a user and mount namespace below I's: the kernel locks the
	 * mounts that come from a more privileged namespace, so even a stage
	 * that is root inside cannot lift the covers.
	 */
	if ((pid = exec_iso_clone(pl, 0)) == -1)
		return (-1);
	if (pid > 0) {
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		exec_iso_wait(pid);
	}
	return (0);
}

/* Did a step fail for want of resources, that may be there later? */
static int
exec_iso_transient_errno(int error)
{
	switch (error) {
	case EAGAIN:
	case EINTR:
	case EMFILE:
	case ENFILE:
	case ENOMEM:
	case ENOSPC:	/* user.max_user_namespaces and the like */
	case EUSERS:	/* user namespaces nested too deep */
		return (1);
	}
	return (0);
}

/*
 * Find what the kernel allows, with a child that goes through the steps
 * of an isolated job that hides nothing. Full isolation is found once; a
 * failure for want of resources (a fork, memory, a namespace limit) is
 * not kept, so the next stage probes again, and any other failure is
 * kept for EXEC_ISO_RETRY seconds (sysctls, AppArmor and seccomp can
 * change). Logged when the outcome changes.
 */
static void
exec_iso_probe(void)
{
	static int		logged = EXEC_ISO_UNKNOWN;
	struct exec_plan	pl;
	struct timespec		ts;
	pid_t			pid;
	int			p[2], status;
	ssize_t			n;
	char			nopid[sizeof exec_iso_why];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (exec_iso_state == EXEC_ISO_FULL ||
	    (exec_iso_state != EXEC_ISO_UNKNOWN && !exec_iso_transient &&
	    ts.tv_sec - exec_iso_when < EXEC_ISO_RETRY))
		return;
	exec_iso_when = ts.tv_sec;
	exec_iso_transient = 0;
	memset(&pl, 0, sizeof pl);
	exec_iso_state = EXEC_ISO_NONE;
	exec_iso_why[0] = nopid[0] = '\0';
	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(exec_iso_why, sizeof exec_iso_why, "pipe: %s",
		    strerror(errno));
		exec_iso_transient = exec_iso_transient_errno(errno);
		goto log;
	}
	for (pl.pidns = 1; pl.pidns >= 0; pl.pidns--) {
		snprintf(pl.uid_map, sizeof pl.uid_map, "%lu %lu 1\n",
		    (unsigned long)geteuid(), (unsigned long)geteuid());
		snprintf(pl.gid_map, sizeof pl.gid_map, "%lu %lu 1\n",
		    (unsigned long)getegid(), (unsigned long)getegid());
		if ((pid = fork()) == -1) {
			snprintf(exec_iso_why, sizeof exec_iso_why,
			    "fork: %s", strerror(errno));
			exec_iso_transient = 1;
			break;
		}
		if (pid == 0) {
			if (exec_iso_enter(&pl) == -1) {
				n = write(p[1], exec_iso_err,
				    strlen(exec_iso_err));
				_exit(exec_iso_transient_errno(exec_iso_errno) ?
				    3 : 1);
			}
			_exit(0);
		}
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			exec_iso_state = pl.pidns ? EXEC_ISO_FULL :
			    EXEC_ISO_NOPID;
			break;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) == 3)
			exec_iso_transient = 1;
		evutil_make_socket_nonblocking(p[0]);
		n = read(p[0], exec_iso_why, sizeof exec_iso_why - 1);
		exec_iso_why[n > 0 ? n : 0] = '\0';
		if (exec_iso_why[0] == '\0')
			snprintf(exec_iso_why, sizeof exec_iso_why,
			    "the probe %s %d", WIFEXITED(status) ? "exited" :
			    "was killed by signal", WIFEXITED(status) ?
			    WEXITSTATUS(status) : WTERMSIG(status));
		if (pl.pidns)
			memcpy(nopid, exec_iso_why, sizeof nopid);
	}
	close(p[0]);
	close(p[1]);
	/* For the stages' logs: why what they get is less than full. */
	if (exec_iso_state == EXEC_ISO_NOPID)
		memcpy(exec_iso_why, nopid, sizeof exec_iso_why);
log:
	if (exec_iso_state == logged)
		return;
	if (exec_iso_state == EXEC_ISO_NOPID)
		log_warnx("exec: stages can see other processes (no PID "
		    "namespace: %s)", exec_iso_why);
	else if (exec_iso_state == EXEC_ISO_NONE)
		log_warnx("exec: stage isolation is unavailable: %s%s",
		    exec_iso_why, exec_iso_transient ? " (will try again)" :
		    "");
	else if (logged != EXEC_ISO_UNKNOWN)
		log_info("exec: stage isolation is available again");
	logged = exec_iso_state;
}

/* In the child: become the group leader, clean up, exec. Never returns. */
static void
exec_child(const struct exec_spec *spec, struct exec_plan *pl, int out,
    pid_t parent)
{
	sigset_t	set;
	int		fd, sig;

	setpgid(0, 0);
	/* If ferry dies (even by SIGKILL), the stage dies with it... */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* ...and if it died before that, there is nobody to report to. */
	if ((exec_parent = getppid()) != parent)
		_exit(1);
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		dup2(fd, STDIN_FILENO);
		if (fd != STDIN_FILENO)
			close(fd);
	}
	dup2(out, STDOUT_FILENO);
	dup2(out, STDERR_FILENO);
	/* Nothing else of ours, nor of whoever started us, leaks in. */
	close_range(3, ~0U, 0);
	if (pl != NULL && exec_iso_enter(pl) == -1) {
		dprintf(STDERR_FILENO, "ferry: cannot isolate the stage: %s\n",
		    exec_iso_err);
		_exit(126);
	}
	if (spec->cwd != NULL && chdir(spec->cwd) != 0) {
		dprintf(STDERR_FILENO, "ferry: cannot enter %s: %s\n",
		    spec->cwd, strerror(errno));
		_exit(126);
	}
	/*
	 * A bare command name is looked up in the stage's PATH: execvp reads
	 * PATH from environ, so environ becomes the stage's first.
	 */
	environ = (char **)(uintptr_t)spec->envp;
	if (strchr(spec->argv[0], '/') != NULL)
		execve(spec->argv[0], spec->argv, spec->envp);
	else
		execvp(spec->argv[0], spec->argv);
	dprintf(STDERR_FILENO, "ferry: cannot run %s: %s\n", spec->argv[0],
	    strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/*
 * Start a job. The callback runs exactly once, from the loop, after the
 * process has exited; the job is freed after it returns. Returns NULL with
 * *cause set if nothing could be started.
 */
struct exec_job *
exec_start(const struct exec_spec *spec, exec_done_cb cb, void *arg,
    char **cause)
{
	struct exec_job		*job;
	struct exec_plan	 plan, *pl = NULL;
	int			 p[2], logfd, mode;
	pid_t			 pid, parent = getpid();
	size_t			 i;

	mode = spec->isolation != NULL ? spec->isolation->mode :
	    EXEC_ISOLATE_NONE;
	if (mode != EXEC_ISOLATE_NONE) {
		exec_iso_probe();
		if (exec_iso_state == EXEC_ISO_NONE &&
		    mode == EXEC_ISOLATE_NAMESPACES) {
			xasprintf(cause, "isolation: namespaces is set but "
			    "unavailable: %s", exec_iso_why);
			return (NULL);
		}
		if (exec_iso_state != EXEC_ISO_NONE) {
			exec_plan_build(spec->isolation, &plan);
			pl = &plan;
		}
		if (pl != NULL && pl->ngone > 0 &&
		    mode == EXEC_ISOLATE_NAMESPACES) {
			xasprintf(cause, "isolation: namespaces: %s is not "
			    "there to cover (moved?)", pl->gone[0]);
			exec_plan_free(pl);
			return (NULL);
		}
	}
	if (spec->log_path != NULL) {
		logfd = open(spec->log_path, O_WRONLY | O_CREAT | O_APPEND |
		    O_CLOEXEC, 0640);
		if (logfd == -1) {
			xasprintf(cause, "log %s: %s", spec->log_path,
			    strerror(errno));
			if (pl != NULL)
				exec_plan_free(pl);
			return (NULL);
		}
	} else
		logfd = spec->log_fd;
	/* Whoever reads the stage's log learns what it could reach. */
	if (mode != EXEC_ISOLATE_NONE && logfd != -1) {
		if (exec_iso_state == EXEC_ISO_NONE)
			exec_log_line(logfd, "ferry: this stage is not "
			    "isolated: %s", exec_iso_why);
		else if (exec_iso_state == EXEC_ISO_NOPID)
			exec_log_line(logfd, "ferry: this stage shares "
			    "ferryd's process ids (no PID namespace: %s)",
			    exec_iso_why);
		for (i = 0; pl != NULL && i < pl->ngone; i++)
			exec_log_line(logfd, "ferry: %s is not there to "
			    "cover (moved?)", pl->gone[i]);
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		if (spec->log_path != NULL)
			close(logfd);
		if (pl != NULL)
			exec_plan_free(pl);
		return (NULL);
	}
	switch (pid = fork()) {
	case -1:
		xasprintf(cause, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		if (spec->log_path != NULL)
			close(logfd);
		if (pl != NULL)
			exec_plan_free(pl);
		return (NULL);
	case 0:
		close(p[0]);
		exec_child(spec, pl, p[1], parent);
		/* NOTREACHED */
	}
	if (pl != NULL)
		exec_plan_free(pl);
	/* Also here, so that a kill before the child runs hits the group. */
	setpgid(pid, pid);
	close(p[1]);
	job = xcalloc(1, sizeof *job);
	job->pid = pid;
	job->out = p[0];
	job->log = logfd;
	job->own_log = spec->log_path != NULL;
	job->log_max = spec->log_max;
	job->echo = spec->echo;
	job->grace_ms = spec->grace_ms > 0 ? spec->grace_ms : 10000;
	job->cb = cb;
	job->arg = arg;
	job->arg_free = spec->arg_free;
	if (job->own_log) {
		struct stat st;
		if (fstat(logfd, &st) == 0)
			job->logged = (size_t)st.st_size;
	}
	evutil_make_socket_nonblocking(p[0]);
	job->read_ev = event_new(exec_base, p[0], EV_READ | EV_PERSIST,
	    exec_read_cb, job);
	event_add(job->read_ev, NULL);
	job->timer = evtimer_new(exec_base, exec_timer_cb, job);
	if (spec->timeout_ms > 0)
		exec_arm(job, spec->timeout_ms);
	LIST_INSERT_HEAD(&exec_jobs, job, entry);
	exec_njobs++;
	return (job);
}

/* Stop a job: SIGTERM to its group now, SIGKILL after the grace period. */
void
exec_cancel(struct exec_job *job)
{
	if (job->exited || job->term_sent)
		return;
	job->canceled = 1;
	job->term_sent = 1;
	kill(-job->pid, SIGTERM);
	exec_arm(job, job->grace_ms);
}
