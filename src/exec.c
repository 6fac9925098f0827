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
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <event2/event.h>

#include <errno.h>
#include <fcntl.h>
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

static void	exec_reap_cb(evutil_socket_t, short, void *);
static void	exec_maybe_done(struct exec_job *);

/* Set up SIGCHLD handling on base. */
void
exec_init(struct event_base *base)
{
	exec_base = base;
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

/* In the child: become the group leader, clean up, exec. Never returns. */
static void
exec_child(const struct exec_spec *spec, int out)
{
	sigset_t	set;
	int		fd, sig;

	setpgid(0, 0);
	/* If ferry dies (even by SIGKILL), the stage dies with it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
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
	struct exec_job	*job;
	int		 p[2], logfd;
	pid_t		 pid;

	if (spec->log_path != NULL) {
		logfd = open(spec->log_path, O_WRONLY | O_CREAT | O_APPEND |
		    O_CLOEXEC, 0640);
		if (logfd == -1) {
			xasprintf(cause, "log %s: %s", spec->log_path,
			    strerror(errno));
			return (NULL);
		}
	} else
		logfd = spec->log_fd;
	if (pipe2(p, O_CLOEXEC) == -1) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		if (spec->log_path != NULL)
			close(logfd);
		return (NULL);
	}
	switch (pid = fork()) {
	case -1:
		xasprintf(cause, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		if (spec->log_path != NULL)
			close(logfd);
		return (NULL);
	case 0:
		close(p[0]);
		exec_child(spec, p[1]);
		/* NOTREACHED */
	}
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
