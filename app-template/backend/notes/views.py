from django.db.models import Q, QuerySet
from rest_framework import generics
from rest_framework.serializers import BaseSerializer

from .models import Note
from .serializers import NoteSerializer


class OwnNotes(generics.GenericAPIView[Note]):
    """The signed-in user's notes (the settings let no one else in); staff also see the notes
    from before notes had authors."""

    serializer_class = NoteSerializer

    def get_queryset(self) -> QuerySet[Note]:
        user = self.request.user
        mine = Q(author=user)
        return Note.objects.filter(mine | Q(author=None) if user.is_staff else mine)


class NoteList(OwnNotes, generics.ListCreateAPIView[Note]):
    """GET: the user's notes, newest first, a page at a time (?page=N). POST {"title": ...,
    "body": ...}: add one."""

    def perform_create(self, serializer: BaseSerializer[Note]) -> None:
        serializer.save(author=self.request.user)


class NoteDetail(OwnNotes, generics.RetrieveUpdateDestroyAPIView[Note]):
    """GET, PUT, PATCH, DELETE one of the user's notes; another user's is a 404."""
