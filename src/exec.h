/*
 * exec.h: child processes on the event loop. A job is one command in its
 * own process group, with a clean environment, its output captured with
 * timestamps into a log file of bounded size, a timeout that sends SIGTERM
 * to the whole group and SIGKILL after a grace period, and a completion
 * callback once the process has exited and its output is drained. Used by
 * ferryd for checkouts and stages and by `ferry pipeline run`.
 */
#ifndef EXEC_H
#define EXEC_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct exec_job;

struct exec_spec {
	char *const	*argv;		/* NULL-terminated; borrowed */
	char *const	*envp;		/* the whole environment; borrowed */
	const char	*cwd;
	const char	*log_path;	/* output appended here */
	int		 log_fd;	/* or here, when log_path is NULL */
	size_t		 log_max;	/* bytes; 0: no cap */
	int64_t		 timeout_ms;	/* 0: none */
	int64_t		 grace_ms;	/* SIGTERM to SIGKILL */
	int		 echo;		/* also copy output to stderr */
	void		(*arg_free)(void *);	/* frees the callback's arg
						   if the job is dropped */
};

/* Called once: exit status (0-255) or 128 + signal; timed_out, canceled. */
typedef void (*exec_done_cb)(struct exec_job *, int, int, int, void *);

void		 exec_init(struct event_base *);
void		 exec_shutdown(void);
struct exec_job	*exec_start(const struct exec_spec *, exec_done_cb, void *,
		     char **);
void		 exec_cancel(struct exec_job *);
pid_t		 exec_pid(const struct exec_job *);
int		 exec_running(void);
void		 exec_log_line(int, const char *, ...)
		     __attribute__((__format__(__printf__, 2, 3)));
void		 exec_log_note(const char *, const char *, ...)
		     __attribute__((__format__(__printf__, 2, 3)));

#endif
