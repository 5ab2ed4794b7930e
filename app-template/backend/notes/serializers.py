from rest_framework import serializers

from .models import Note


class NoteSerializer(serializers.ModelSerializer[Note]):
    class Meta:
        model = Note
        fields = ["id", "title", "body", "created_at"]
        extra_kwargs = {"body": {"max_length": 10_000}}
