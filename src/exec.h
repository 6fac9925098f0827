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

/* executor.isolation: how a stage is kept from ferryd's own files. */
#define EXEC_ISOLATE_NONE	0	/* ferryd's view of the system */
#define EXEC_ISOLATE_AUTO	1	/* namespaces where the kernel allows */
#define EXEC_ISOLATE_NAMESPACES	2	/* namespaces, or the job fails */

/*
 * What an isolated job must not see and what it keeps. A hidden folder is
 * covered by an empty read-only tmpfs, anything else by /dev/null. A
 * secret is a file whose folder is hidden, unless that folder is a shared
 * one (/etc, /tmp, ...) or holds a kept path: then only the file is. Kept
 * paths under a hidden folder are shown through it.
 */
struct exec_isolation {
	int		  mode;		/* EXEC_ISOLATE_* */
	char		**hide;
	size_t		  nhide;
	char		**secrets;
	size_t		  nsecrets;
	char		**keep;		/* writable */
	size_t		  nkeep;
	char		**keep_ro;	/* read-only */
	size_t		  nkeep_ro;
};

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
	const struct exec_isolation *isolation;	/* NULL: none; borrowed */
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
void		 exec_isolation_add(char ***, size_t *, const char *);
void		 exec_isolation_free(struct exec_isolation *);
void		 exec_log_line(int, const char *, ...)
		     __attribute__((__format__(__printf__, 2, 3)));
void		 exec_log_note(const char *, const char *, ...)
		     __attribute__((__format__(__printf__, 2, 3)));

#endif
