"""Notices and letters as documents (issue 17): made from the LA's templates, rendered to a
tagged PDF, kept on the case with their author, date and version, downloaded by those who may
see them, and sent to the school's inbox (as a link) where the school is the recipient."""
