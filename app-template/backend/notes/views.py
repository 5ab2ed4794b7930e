from rest_framework import generics
from rest_framework.permissions import AllowAny

from .models import Note
from .serializers import NoteSerializer


class NoteList(generics.ListCreateAPIView):
    """GET: all notes, newest first. POST {"title": ..., "body": ...}: add one.

    An example API for the frontend, open to anyone without login: add authentication
    and permissions before storing anything real.
    """

    queryset = Note.objects.all()
    serializer_class = NoteSerializer
    authentication_classes = []
    permission_classes = [AllowAny]
