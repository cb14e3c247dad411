"""Letters: proofreading and rewording shown as changes to accept one by one,
documents read and written (txt, md, docx; PDF read), letters in the person's
own style, and a book of their best letters."""
