from django.db.models import Q
from rest_framework import generics

from .models import Note
from .serializers import NoteSerializer


class OwnNotes:
    """The signed-in user's notes (the settings let no one else in); staff also see the notes
    from before notes had authors."""

    serializer_class = NoteSerializer

    def get_queryset(self):
        user = self.request.user
        mine = Q(author=user)
        return Note.objects.filter(mine | Q(author=None) if user.is_staff else mine)


class NoteList(OwnNotes, generics.ListCreateAPIView):
    """GET: the user's notes, newest first, a page at a time (?page=N). POST {"title": ...,
    "body": ...}: add one."""

    def perform_create(self, serializer):
        serializer.save(author=self.request.user)


class NoteDetail(OwnNotes, generics.RetrieveUpdateDestroyAPIView):
    """GET, PUT, PATCH, DELETE one of the user's notes; another user's is a 404."""
