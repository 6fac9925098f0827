/* xmalloc.h: allocation wrappers; running out of memory is fatal. */
#ifndef XMALLOC_H
#define XMALLOC_H

#include <stddef.h>

#include "log.h"

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...) printflike(2, 3);
void	 freezero_str(char *);

#endif
