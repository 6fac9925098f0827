/* log.h: logging to stderr (the journal under systemd). */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

#define printflike(a, b) __attribute__((__format__(__printf__, a, b)))

void	log_init(const char *, int);
void	log_set_verbose(int);
void	log_warn(const char *, ...) printflike(1, 2);
void	log_warnx(const char *, ...) printflike(1, 2);
void	log_info(const char *, ...) printflike(1, 2);
void	log_debug(const char *, ...) printflike(1, 2);
void	fatal(const char *, ...) printflike(1, 2) __attribute__((__noreturn__));
void	fatalx(const char *, ...) printflike(1, 2) __attribute__((__noreturn__));

#endif
